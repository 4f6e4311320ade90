"""Synthetic person-search datasets written in the original file formats.

Scene images with procedurally drawn pedestrians: an identity is its
clothing colours and patterns, build and accessories (many identities are
look-alikes that differ in details), seen by several cameras with their own
colour casts, at several scales and positions, partly occluded, among
unlabeled passers-by and background clutter; or videos of such people
walking across cameras' views, with the ground truth of their tracks.
"""
from .appearance import PersonAppearance, draw_person, sample_identities
from .cuhk_sysu import STANDARD_GALLERY_SIZES, generate_cuhk_sysu
from .prw import generate_prw
from .video import generate_videos

__all__ = [
    'PersonAppearance', 'draw_person', 'sample_identities',
    'STANDARD_GALLERY_SIZES', 'generate_cuhk_sysu', 'generate_prw',
    'generate_videos'
]
