"""formguide.football.models"""
