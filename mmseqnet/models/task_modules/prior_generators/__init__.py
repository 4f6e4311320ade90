from .rounded_anchor_generator import RoundedAnchorGenerator

__all__ = ['RoundedAnchorGenerator']
