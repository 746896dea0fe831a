from django.conf import settings
from django.contrib.auth.hashers import BCryptSHA256PasswordHasher


class ConfigurableBCryptSHA256PasswordHasher(BCryptSHA256PasswordHasher):
    """Django's bcrypt hasher with its cost from ``BCRYPT_ROUNDS``.

    Same algorithm name, so hashes stay compatible; stored hashes with another
    cost are upgraded on the next successful login.
    """

    @property
    def rounds(self):
        return settings.BCRYPT_ROUNDS
