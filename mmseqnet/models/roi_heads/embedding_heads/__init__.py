from .norm_aware_embedding_head import NormAwareEmbeddingHead

__all__ = ['NormAwareEmbeddingHead']
