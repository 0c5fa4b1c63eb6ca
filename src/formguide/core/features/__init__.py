"""formguide.core.features"""
