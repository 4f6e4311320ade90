from .ntxent_loss import NTXentLoss
from .oim_loss import OIMLoss

__all__ = ['NTXentLoss', 'OIMLoss']
