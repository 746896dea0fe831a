from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's, answering the common case without parsing: no ``Accept`` (or ``*/*``) and no ``?format=``.

    Then DRF picks the view's first renderer with its own media type; so does
    this, for a fraction of the cost (parsing the header took a tenth of a
    cached list's time). Anything else is DRF's own negotiation, 406s included.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT")
        plain = accept is None or accept == "*/*"
        if plain and not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
