"""framing.model"""
