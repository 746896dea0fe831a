"""Resources: who or what delivers a booking; group sessions (``Service.capacity``).

Every service gets a resource of its own, named after it, in its time zone:
existing ones here, new ones by a trigger on ``catalog_service`` (whatever
creates the service: the API, the admin, a command, raw SQL), so one service
is still one calendar with no extra step. The own resource has no hours of
its own: the service's hours (which bound every booking anyway) are all that
apply, and stay the only place to change them. Resources are part of what
the catalog shows, so their changes move the catalog version (0004).
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

OWN_RESOURCE = """
CREATE FUNCTION catalog_own_resource(service_id bigint, name varchar, zone varchar) RETURNS bigint AS $$
    WITH resource AS (
        INSERT INTO catalog_resource (name, kind, is_active, timezone, own_service_id, created_at, updated_at)
        VALUES ($2, 'room', true, $3, $1, now(), now())
        RETURNING id
    )
    INSERT INTO catalog_resource_services (resource_id, service_id) SELECT id, $1 FROM resource
    RETURNING resource_id
$$ LANGUAGE sql
"""
OWN_RESOURCE_TRIGGER = """
CREATE FUNCTION catalog_service_own_resource() RETURNS trigger AS $$
BEGIN
    PERFORM catalog_own_resource(NEW.id, NEW.name, NEW.timezone);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
VERSIONED = ["catalog_resource", "catalog_resource_services"]
FORWARD = [
    OWN_RESOURCE,
    OWN_RESOURCE_TRIGGER,
    "CREATE TRIGGER catalog_service_own_resource AFTER INSERT ON catalog_service"
    " FOR EACH ROW EXECUTE FUNCTION catalog_service_own_resource()",
    "SELECT catalog_own_resource(id, name, timezone) FROM catalog_service ORDER BY id",
    *(
        f"CREATE CONSTRAINT TRIGGER {table}_bumps_catalog_version AFTER INSERT OR UPDATE OR DELETE ON {table}"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION catalog_bump_version()"
        for table in VERSIONED
    ),
    *(
        f"CREATE TRIGGER {table}_truncate_bumps_catalog_version AFTER TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version()"
        for table in VERSIONED
    ),
]
REVERSE = [
    *(f"DROP TRIGGER {table}_bumps_catalog_version ON {table}" for table in VERSIONED),
    *(f"DROP TRIGGER {table}_truncate_bumps_catalog_version ON {table}" for table in VERSIONED),
    "DROP TRIGGER catalog_service_own_resource ON catalog_service",
    "DROP FUNCTION catalog_service_own_resource()",
    "DROP FUNCTION catalog_own_resource(bigint, varchar, varchar)",
    # The resources' own hours go with them (the service column is NOT NULL again).
    "DELETE FROM catalog_workinghours WHERE resource_id IS NOT NULL",
    "DELETE FROM catalog_scheduleexception WHERE resource_id IS NOT NULL",
]


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_notification_preferences'),
    ]

    operations = [
        migrations.CreateModel(
            name='Resource',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('name', models.CharField(max_length=200)),
                ('kind', models.CharField(choices=[('staff', 'Staff'), ('room', 'Room'), ('equipment', 'Equipment')], default='staff', max_length=10)),
                ('is_active', models.BooleanField(default=True)),
                ('timezone', models.CharField(default='UTC', help_text='IANA name; working hours are in this zone.', max_length=64)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.AddField(
            model_name='service',
            name='capacity',
            field=models.PositiveIntegerField(default=1, help_text='People per session; 1: one booking per slot.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1000)]),
        ),
        migrations.AlterField(
            model_name='scheduleexception',
            name='service',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='exceptions', to='catalog.service'),
        ),
        migrations.AlterField(
            model_name='workinghours',
            name='service',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='working_hours', to='catalog.service'),
        ),
        migrations.AddConstraint(
            model_name='service',
            constraint=models.CheckConstraint(condition=models.Q(('capacity__gte', 1), ('capacity__lte', 1000)), name='catalog_service_capacity_1_to_1000', violation_error_message='Capacity must be between 1 and 1000.'),
        ),
        migrations.AddField(
            model_name='resource',
            name='services',
            field=models.ManyToManyField(blank=True, related_name='resources', to='catalog.service'),
        ),
        migrations.AddField(
            model_name='scheduleexception',
            name='resource',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='exceptions', to='catalog.resource'),
        ),
        migrations.AddField(
            model_name='workinghours',
            name='resource',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='working_hours', to='catalog.resource'),
        ),
        migrations.AddConstraint(
            model_name='scheduleexception',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('resource__isnull', True), ('service__isnull', False)), models.Q(('resource__isnull', False), ('service__isnull', True)), _connector='OR'), name='catalog_exception_one_owner'),
        ),
        migrations.AddConstraint(
            model_name='workinghours',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('resource__isnull', True), ('service__isnull', False)), models.Q(('resource__isnull', False), ('service__isnull', True)), _connector='OR'), name='catalog_hours_one_owner'),
        ),
        migrations.AddConstraint(
            model_name='resource',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['staff', 'room', 'equipment'])), name='catalog_resource_kind'),
        ),
        migrations.AddField(
            model_name="resource",
            name="own_service",
            field=models.OneToOneField(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="own_resource",
                to="catalog.service",
            ),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
