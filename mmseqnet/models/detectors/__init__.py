from .seqnet import SeqNet

__all__ = ['SeqNet']
