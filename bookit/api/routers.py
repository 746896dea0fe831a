from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """Routes that match with and without a trailing slash, so clients never see a redirect."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
