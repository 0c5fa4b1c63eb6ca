"""formguide.core.store"""
