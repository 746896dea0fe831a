from decimal import Decimal

import factory

from catalog.models import Service


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    description = "A service you can book."
    price = Decimal("25.00")
    duration_minutes = 60
    is_active = True
