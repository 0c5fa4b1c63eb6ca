"""formguide.football"""
