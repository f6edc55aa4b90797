from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Stable, constant-time pages at any depth (no OFFSET): ordered by id."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000
