"""REST API of the review app."""


def register(router) -> None:
    """Add this app's viewsets to the site's API router (called by config/urls.py)."""
