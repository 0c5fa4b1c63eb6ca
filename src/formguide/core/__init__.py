"""formguide.core"""
