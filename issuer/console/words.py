"""What the console shows people instead of internal codes: audit actions and actors in words, and
moments in one human format per language (the same as the printed PDF and the wallet:
"2 de diciembre de 2026, 18:30" / "2 December 2026, 18:30", Colombia time)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

COLOMBIA = ZoneInfo("America/Bogota")
MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "credential.issue": ("Credencial emitida", "Credential issued"),
    "credential.deliver": ("Entregada a una billetera", "Delivered to a wallet"),
    "credential.revoke": ("Revocada", "Revoked"),
    "credential.suspend": ("Suspendida", "Suspended"),
    "credential.reinstate": ("Reactivada", "Reinstated"),
    "credential.reissue": ("Emitida de nuevo para otro teléfono", "Issued again for another phone"),
    "credential.replaced": ("Revocada: teléfono reemplazado", "Revoked: phone replaced"),
    "offer.tx_code_wrong": ("Código de la oferta equivocado", "Wrong offer code"),
    "batch.create": ("Lote subido", "Batch uploaded"),
    "batch.done": ("Lote terminado", "Batch finished"),
    "batch.print": ("Lote impreso", "Batch printed"),
    "batch.results": ("Resultados del lote descargados", "Batch results downloaded"),
    "approval.request": ("Aprobación pedida", "Approval requested"),
    "approval.approve": ("Aprobación concedida", "Approval granted"),
    "approval.reject": ("Aprobación rechazada", "Approval rejected"),
    "console.sign_in": ("Inicio de sesión", "Sign-in"),
    "console.sign_out": ("Cierre de sesión", "Sign-out"),
    "console.second_factor": ("Segundo factor", "Second factor"),
    "staff_user.create": ("Usuario creado", "User created"),
    "staff_user.disable": ("Usuario desactivado", "User disabled"),
    "staff_user.reset": ("Acceso restablecido", "Access reset"),
    "staff_user.password": ("Contraseña cambiada", "Password changed"),
    "api_key.create": ("Clave de API creada", "API key created"),
    "api_key.revoke": ("Clave de API revocada", "API key revoked"),
    "key.rotate": ("Clave de firma renovada", "Signing key rotated"),
    "key.compromised": ("Clave de firma comprometida", "Signing key compromised"),
    "institution.create": ("Institución creada", "Institution created"),
    "institution.accredit_external": ("Institución externa acreditada", "External institution accredited"),
    "institution.contact": ("Datos de contacto cambiados", "Contact details changed"),
}
ROLES = {"admin": ("administración", "admin"), "officer": ("funcionario", "officer"),
         "auditor": ("auditoría", "auditor"), "operator": ("operador del registro", "registry operator")}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def action_label(action: str, lang: str) -> str:
    """An audit action in words; an action without words yet reads as "Otra acción"."""
    return _pick(ACTIONS.get(action, ("Otra acción", "Other action")), lang)


def actor_label(actor: str, lang: str) -> str:
    """``officer:@oficial.sena`` → "funcionario oficial.sena"; ``officer:pk_1a2b`` → "funcionario (clave de API
    pk_1a2b)"; ``operator:cli`` → "operador del registro"."""
    role, _, who = actor.partition(":")
    role_words = _pick(ROLES.get(role, (role, role)), lang)
    if who.startswith("@"):
        return f"{role_words} {who[1:]}"
    if role == "operator" or who in ("cli", ""):
        return role_words
    return f"{role_words} ({_pick(('clave de API', 'API key'), lang)} {who})"


def human_when(seconds: int | None, lang: str) -> str:
    """A moment in Colombia, in words: "2 de diciembre de 2026, 18:30" / "2 December 2026, 18:30"."""
    if not seconds:
        return "—"
    moment = datetime.fromtimestamp(seconds, UTC).astimezone(COLOMBIA)
    month = MONTHS["en" if lang == "en" else "es"][moment.month - 1]
    day = f"{moment.day} {month} {moment.year}" if lang == "en" else f"{moment.day} de {month} de {moment.year}"
    return f"{day}, {moment:%H:%M}"
