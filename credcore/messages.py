"""User-facing messages, Spanish first and English second, keyed by stable error code.

The verifier's report, the API problem bodies and the CLI all speak through this table, so a code
means the same words everywhere.
"""

from __future__ import annotations

LANGUAGES = ("es", "en")

_MESSAGES: dict[str, tuple[str, str]] = {
    "valid": ("Credencial válida.", "Valid credential."),
    "malformed": ("El código o la credencial no se puede leer.", "The code or credential cannot be read."),
    "payload_too_large": ("El contenido es demasiado grande.", "The content is too large."),
    "type_invalid": ("No es una credencial de Puente (tipo de token incorrecto).",
                     "Not a Puente credential (wrong token type)."),
    "crit_unsupported": ("La credencial usa extensiones no admitidas.", "The credential uses unsupported extensions."),
    "duplicate_member": ("La credencial tiene campos repetidos.", "The credential has repeated fields."),
    "kid_invalid": ("El identificador de clave no es válido.", "The key identifier is not valid."),
    "jwk_invalid": ("La clave pública no es válida.", "The public key is not valid."),
    "jwk_private": ("Se recibió una clave privada donde debía ir una pública.",
                    "A private key was sent where a public key belongs."),
    "sd_structure_invalid": ("La estructura de divulgación selectiva no es válida.",
                             "The selective-disclosure structure is not valid."),
    "claims_invalid": ("Los datos de la credencial no cumplen su tipo.",
                       "The credential data do not match its type."),
    "unknown_type": ("Tipo de credencial desconocido.", "Unknown credential type."),
    "signature_invalid": ("La firma no es válida: la credencial fue alterada o falsificada.",
                          "The signature is not valid: the credential was altered or forged."),
    "alg_not_allowed": ("Algoritmo de firma no permitido.", "Signature algorithm not allowed."),
    "issuer_untrusted": ("La entidad emisora no es de confianza.", "The issuing institution is not trusted."),
    "issuer_not_in_force": ("La acreditación de la entidad emisora no está vigente.",
                            "The issuing institution's accreditation is not in force."),
    "key_untrusted": ("La clave de firma no pertenece a la entidad emisora.",
                      "The signing key does not belong to the issuing institution."),
    "key_compromised": ("La clave de firma de la entidad fue comprometida; pida una credencial nueva.",
                        "The institution's signing key was compromised; ask for a new credential."),
    "trust_list_invalid": ("La lista de confianza no es válida.", "The trust list is not valid."),
    "trust_list_unavailable": ("El verificador todavía no tiene la lista de confianza; conéctese una vez.",
                               "The verifier has no trust list yet; connect once."),
    "trust_list_stale": ("La lista de confianza está desactualizada; conéctese para actualizarla.",
                         "The trust list is out of date; connect to refresh it."),
    "not_accredited_for_type": ("La entidad no está autorizada para emitir este tipo de credencial.",
                                "The institution is not authorised to issue this type of credential."),
    "expired": ("La credencial está vencida.", "The credential has expired."),
    "exp_missing": ("La credencial no tiene fecha de vencimiento.", "The credential has no expiry date."),
    "not_yet_valid": ("La credencial todavía no es válida.", "The credential is not valid yet."),
    "iat_invalid": ("La fecha de emisión está en el futuro.", "The issue time is in the future."),
    "revoked": ("La credencial fue revocada por la entidad emisora.",
                "The credential was revoked by the issuing institution."),
    "suspended": ("La credencial está suspendida.", "The credential is suspended."),
    "disclosure_invalid": ("Los datos mostrados no corresponden a la credencial firmada.",
                           "The data shown do not match the signed credential."),
    "disclosure_duplicate": ("Un dato se mostró dos veces.", "A piece of data was shown twice."),
    "disclosure_unreferenced": ("Se agregó un dato que la entidad no firmó.",
                                "A piece of data was added that the institution did not sign."),
    "disclosure_collision": ("Un dato mostrado choca con otro de la credencial.",
                             "A disclosed item collides with another one in the credential."),
    "disclosure_arity": ("Un dato mostrado tiene una forma incorrecta.", "A disclosed item has the wrong shape."),
    "disclosure_reserved_name": ("Un dato mostrado usa un nombre reservado.", "A disclosed item uses a reserved name."),
    "digest_duplicate": ("La credencial repite un resumen criptográfico.", "The credential repeats a digest."),
    "critical_claim_disclosable": ("Un dato esencial de la credencial estaba oculto.",
                                   "An essential part of the credential was hidden."),
    "key_binding_invalid": ("No se pudo comprobar que quien presenta es el titular.",
                            "Could not confirm that the presenter is the holder."),
    "kb_invalid": ("La prueba del titular no es válida.", "The holder's proof is not valid."),
    "kb_missing": ("Falta la prueba del titular: use el código que muestra la billetera.",
                   "The holder's proof is missing: use the code shown by the wallet."),
    "kb_expired": ("El código ya caducó (¿una foto o captura de pantalla?). Pida uno nuevo.",
                   "The code has expired (a photo or screenshot?). Ask for a fresh one."),
    "kb_audience": ("El código fue generado para otro verificador.", "The code was made for another verifier."),
    "kb_sd_hash": ("La prueba del titular no corresponde a los datos mostrados.",
                   "The holder's proof does not match the data shown."),
    "kb_unexpected": ("La credencial en papel no lleva prueba del titular.",
                      "A paper credential carries no holder proof."),
    "cnf_invalid": ("La clave del titular en la credencial no es válida.",
                    "The holder key in the credential is not valid."),
    "replayed": ("Este código ya fue usado. Pida a la persona que muestre uno nuevo.",
                 "This code was already used. Ask the person to show a fresh one."),
    "status_unavailable": ("No se pudo confirmar si la credencial sigue vigente.",
                           "Could not confirm whether the credential is still in force."),
    "status_missing": ("La credencial no indica dónde consultar si sigue vigente, y esta entidad debe indicarlo.",
                       "The credential does not say where to check whether it is still in force, and this "
                       "institution must say so."),
    "not_applicable": ("No aplica: esta entidad emite este tipo de credencial sin lista de estado.",
                       "Not applicable: this institution issues this type of credential without a status list."),
    "kid_required": ("La credencial no indica con qué clave fue firmada y la entidad tiene varias.",
                     "The credential does not say which key signed it and the institution has several."),
    "x5c_invalid": ("La cadena de certificados de la credencial no se puede leer.",
                    "The credential's certificate chain cannot be read."),
    "x5c_untrusted": ("El certificado de firma no proviene de la autoridad que acredita a la entidad.",
                      "The signing certificate does not come from the authority that accredits the institution."),
    "x5c_iss_mismatch": ("El certificado de firma pertenece a otra entidad.",
                         "The signing certificate belongs to another institution."),
    "status_invalid": ("La lista de estado no es válida.", "The status list is not valid."),
    "status_expired": ("La lista de estado está vencida.", "The status list has expired."),
}

CHECK_NAMES: dict[str, tuple[str, str]] = {
    "format": ("Formato", "Format"),
    "signature": ("Firma", "Signature"),
    "issuer_trust": ("Entidad de confianza", "Trusted issuer"),
    "accreditation": ("Autorización para el tipo", "Authorised for the type"),
    "validity": ("Vigencia", "Validity period"),
    "disclosures": ("Datos divulgados", "Disclosed data"),
    "claims": ("Datos según el tipo", "Data match the type"),
    "holder_binding": ("Titular", "Holder"),
    "status": ("Estado (revocación)", "Status (revocation)"),
}


def catalog() -> dict[str, tuple[str, str]]:
    """Every code with its (Spanish, English) message: what the scanning page shows offline."""
    return dict(_MESSAGES)


def message(code: str, lang: str = "es") -> str:
    es, en = _MESSAGES.get(code, _MESSAGES["malformed"])
    return en if lang == "en" else es


def negotiate(accept_language: str | None) -> str:
    """Pick ``es`` or ``en`` from an Accept-Language header; Spanish by default."""
    if not accept_language:
        return "es"
    best, best_q = "es", -1.0
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower()[:2]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


_FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Falta este dato obligatorio.", "This required field is missing."),
    "type": ("El tipo de dato no es correcto.", "The value has the wrong type."),
    "minLength": ("El texto está vacío o es demasiado corto.", "The text is empty or too short."),
    "maxLength": ("El texto es demasiado largo.", "The text is too long."),
    "pattern": ("El formato no es correcto.", "The format is not correct."),
    "format": ("La fecha no es válida (AAAA-MM-DD).", "The date is not valid (YYYY-MM-DD)."),
    "minimum": ("El valor es demasiado pequeño.", "The value is too small."),
    "maximum": ("El valor es demasiado grande.", "The value is too large."),
    "enum": ("El valor no está entre los permitidos.", "The value is not one of the allowed ones."),
    "additionalProperties": ("Este dato no pertenece a este tipo de credencial.",
                             "This field does not belong to this credential type."),
    "future_date": ("La fecha no puede estar en el futuro.", "The date cannot be in the future."),
    "past": ("La fecha de vencimiento ya pasó.", "The expiry date has passed."),
}


def field_message(kind: str, lang: str = "es") -> str:
    es, en = _FIELD_MESSAGES.get(kind, ("El valor no es válido.", "The value is not valid."))
    return en if lang == "en" else es
