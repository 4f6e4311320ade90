from .torchvision_delta_xywh_bbox_coder import TorchvisionDeltaXYWHBBoxCoder

__all__ = ['TorchvisionDeltaXYWHBBoxCoder']
