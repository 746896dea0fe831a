"""Partial updates: write only the columns a service sets.

A full-row ``save()`` of an object read earlier writes every column back: it
silently undoes whatever another transaction changed meanwhile (an admin
deactivating the user, the rating totals a trigger keeps) and, when the row was
deleted meanwhile, inserts it again. Every update in the services goes through
``model_update`` instead.
"""

from django.db import models

from bookit.domain_errors import NotFoundError


def given(**values) -> dict:
    """The keyword arguments that are not ``None``: a service's "leave it as it is" taken out."""
    return {name: value for name, value in values.items() if value is not None}


def model_update(*, instance: models.Model, data: dict, validate: bool = True) -> list[str]:
    """Set the fields of ``data`` on ``instance`` and UPDATE only their columns; returns the columns written.

    Every key of ``data`` is written (``None`` too, for nullable fields: use
    ``given()`` to drop arguments a caller left out); with nothing to set, no
    query runs. With ``validate``, the given fields go through the model's
    validators and the check constraints on them first (``full_clean``,
    limited to them). ``auto_now`` fields (``updated_at``) are written along.
    The UPDATE never becomes an INSERT: a row deleted meanwhile is a ``NotFoundError``.
    """
    values = dict(data)
    if not values:
        return []
    for name, value in values.items():
        setattr(instance, name, value)
    if validate:
        instance.full_clean(exclude=[f.name for f in instance._meta.concrete_fields if f.name not in values])
    for field in instance._meta.concrete_fields:
        if getattr(field, "auto_now", False):
            values[field.name] = field.pre_save(instance, add=False)  # also sets it on the instance
    if not type(instance)._base_manager.filter(pk=instance.pk).update(**values):
        raise NotFoundError(f"This {instance._meta.verbose_name} no longer exists.")
    return list(values)
