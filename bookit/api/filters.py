import django_filters


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, with its form class built once per filter set rather than per request.

    django-filter makes a new form class, one form field per filter, every time
    a request is filtered; the fields depend only on the filters' declarations,
    so one class serves every request (each form instance copies its fields).
    """

    def get_form_class(self):
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class
