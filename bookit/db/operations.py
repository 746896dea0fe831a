"""Reusable migration operations."""

from django.db import migrations


def _quote(name: str) -> str:
    return '"{}"'.format(name.replace('"', '""'))


class AddExclusionConstraint(migrations.RunSQL):
    """Add a PostgreSQL ``EXCLUDE`` constraint with raw SQL, keeping Django's state in step.

    ``expressions`` are ``(sql_expression, operator)`` pairs, ``condition`` an
    optional SQL ``WHERE`` predicate. The forward SQL makes sure ``btree_gist``
    exists (needed to mix ``=`` on scalars with ``&&`` on ranges in one GiST
    index); the reverse SQL drops only the constraint, since other tables may
    use the extension.

    ``state_constraint`` is the equivalent ``ExclusionConstraint`` declared in
    the model's ``Meta.constraints``: registering it through
    ``state_operations`` keeps ``makemigrations --check`` clean and lets model
    validation (admin forms, ``full_clean``) know the constraint.
    """

    def __init__(
        self,
        *,
        model_name: str,
        table: str,
        name: str,
        expressions: list[tuple[str, str]],
        condition: str | None = None,
        index_type: str = "gist",
        state_constraint=None,
    ):
        self.model_name = model_name
        self.table = table
        self.name = name
        self.expressions = [tuple(pair) for pair in expressions]
        self.condition = condition
        self.index_type = index_type
        self.state_constraint = state_constraint
        elements = ", ".join(f"{expression} WITH {operator}" for expression, operator in self.expressions)
        where = f" WHERE ({condition})" if condition else ""
        forward = [
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
            f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} EXCLUDE USING {index_type} ({elements}){where}",
        ]
        reverse = [f"ALTER TABLE {_quote(table)} DROP CONSTRAINT IF EXISTS {_quote(name)}"]
        state = [migrations.AddConstraint(model_name, state_constraint)] if state_constraint is not None else []
        super().__init__(sql=forward, reverse_sql=reverse, state_operations=state)

    def deconstruct(self):
        kwargs = {
            "model_name": self.model_name,
            "table": self.table,
            "name": self.name,
            "expressions": self.expressions,
        }
        if self.condition:
            kwargs["condition"] = self.condition
        if self.index_type != "gist":
            kwargs["index_type"] = self.index_type
        if self.state_constraint is not None:
            kwargs["state_constraint"] = self.state_constraint
        return (f"{self.__class__.__module__}.{self.__class__.__qualname__}", [], kwargs)

    def describe(self):
        return f"Add exclusion constraint {self.name} on {self.table}"

    @property
    def migration_name_fragment(self):
        return f"{self.table}_{self.name}"


class RemoveExclusionConstraint(AddExclusionConstraint):
    """Drop an exclusion constraint added by ``AddExclusionConstraint``; backwards, add it again.

    Takes the same arguments as the operation that added it (so the reverse SQL
    can rebuild it), and removes ``state_constraint`` from Django's state.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sql, self.reverse_sql = self.reverse_sql, self.sql
        self.state_operations = [migrations.RemoveConstraint(self.model_name, self.name)]

    def describe(self):
        return f"Remove exclusion constraint {self.name} from {self.table}"

    @property
    def migration_name_fragment(self):
        return f"remove_{self.table}_{self.name}"
