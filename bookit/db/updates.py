"""Partial updates: write only the columns a service changed.

A full-row ``save()`` of an object read earlier writes every column back: it
silently undoes whatever another transaction changed meanwhile (an admin
deactivating the user, the rating totals a trigger keeps) and, when the row was
deleted meanwhile, inserts it again. Every update in the services goes through
``model_update`` instead.
"""

from django.db import models

from bookit.domain_errors import NotFoundError


def model_update(*, instance: models.Model, data: dict, validate: bool = True) -> list[str]:
    """Set the fields of ``data`` that differ from ``instance`` and save only those columns.

    A value of ``None`` leaves its field as it is (the services' keyword arguments
    use ``None`` for "not given"). With ``validate``, the changed fields go through
    the model's validators and check constraints first (``full_clean``, limited to
    them). ``auto_now`` fields (``updated_at``) are written along when anything
    changed. The UPDATE never becomes an INSERT: a row deleted meanwhile is a
    ``NotFoundError``. Returns the names of the fields written (empty: no query).
    """
    changed = [
        name
        for name, value in data.items()
        if value is not None and getattr(instance, instance._meta.get_field(name).attname) != value
    ]
    if not changed:
        return []
    for name in changed:
        setattr(instance, name, data[name])
    if validate:
        unchanged = [field.name for field in instance._meta.concrete_fields if field.name not in changed]
        instance.full_clean(exclude=unchanged)
    values = {name: getattr(instance, name) for name in changed}
    for field in instance._meta.concrete_fields:
        if getattr(field, "auto_now", False):
            values[field.name] = field.pre_save(instance, add=False)  # also sets it on the instance
    if not type(instance)._base_manager.filter(pk=instance.pk).update(**values):
        raise NotFoundError(f"This {instance._meta.verbose_name} no longer exists.")
    return list(values)
