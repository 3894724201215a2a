"""framing.training"""
