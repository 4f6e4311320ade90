"""Pictures of person search, drawn by one registered visualiser in one
palette."""
from .palette import PALETTE, SearchPalette, person_id_color
from .person_search_visualizer import PersonSearchVisualizer

__all__ = [
    'PALETTE', 'SearchPalette', 'person_id_color', 'PersonSearchVisualizer'
]
