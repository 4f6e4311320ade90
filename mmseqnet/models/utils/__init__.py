from .checkpoint_converter import (convert_checkpoint_file,
                                   convert_seqnet_checkpoint,
                                   convert_seqnet_state_dict,
                                   extract_seqnet_state_dict)
from .gfn_checkpoint_converter import (convert_gfn_checkpoint,
                                       convert_gfn_state_dict)
from .stable_nms import stable_batched_nms

__all__ = [
    'convert_checkpoint_file', 'convert_gfn_checkpoint',
    'convert_gfn_state_dict', 'convert_seqnet_checkpoint',
    'convert_seqnet_state_dict', 'extract_seqnet_state_dict',
    'stable_batched_nms'
]
