from .single_logit_bbox_head import SingleLogitBBoxHead

__all__ = ['SingleLogitBBoxHead']
