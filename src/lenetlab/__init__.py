"""lenetlab: the classic foundations of convolutional networks, reproduced and explained."""

__version__ = "0.1.0"
