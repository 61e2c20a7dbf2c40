"""People. ``accounts`` is both a shared and a tenant app: in the public schema
its users are platform staff; in a tenant schema they are that tenant's owner,
consultants and assistants. The two never meet: a session lives in the schema
of the host it was opened on."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        CONSULTANT = "consultant", "Consultant"
        ASSISTANT = "assistant", "Assistant"
        STAFF = "staff", "Platform staff"

    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.CONSULTANT)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Platform staff: may use the staff console (public schema only)."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the owner revoked this person's access; nothing is deleted."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER

    @property
    def is_consultant(self) -> bool:
        """Owners are consultants too: a solo consultant is the owner of their own site."""
        return self.role in (self.Role.OWNER, self.Role.CONSULTANT)

    @property
    def is_assistant(self) -> bool:
        return self.role == self.Role.ASSISTANT


class LoginHandoff(models.Model):
    """A single-use, short-lived link that signs a user in on their tenant host.

    Sign-up happens on the platform host, but sessions are per host and per
    schema, so the new owner is handed over to the tenant host with this token.
    Only its SHA-256 is stored.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sign-in link for {self.user_id} (expires {self.expires_at:%Y-%m-%d %H:%M})"


class AssistantAssignment(models.Model):
    """Which consultants' calls an assistant sees and manages."""

    assistant = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    consultant = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assistants")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assistant", "consultant"], name="assignment_unique"),
            models.CheckConstraint(condition=~models.Q(assistant=models.F("consultant")),
                                   name="assignment_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.assistant_id} assists {self.consultant_id}"


class Invitation(models.Model):
    """An emailed, single-use, expiring invitation to join the tenant. Only the token's SHA-256 is stored."""

    class Role(models.TextChoices):
        CONSULTANT = "consultant", "Consultant"
        ASSISTANT = "assistant", "Assistant"

    email = models.EmailField()
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.CONSULTANT)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"invitation of {self.email} as {self.role}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class PersonalAccessToken(models.Model):
    """A named, long-lived API token. Shown once; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise the token in lists.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], condition=models.Q(revoked_at__isnull=True),
                                    name="token_name_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
