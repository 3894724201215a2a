"""framing.eval"""
