// Credential errors as credcore.errors has them: a verdict fixed by the kind of failure and a finer,
// stable code. The browser verifier throws these; FormatErrors of the shared modules (bytes, JSON,
// PT1, inflate) are the core's MalformedError and become verdict "malformed" with their code.

import { FormatError } from '../bytes.js';

export class CredentialError extends Error {
  constructor(verdict, code, description = '') {
    super(description || code);
    this.verdict = verdict;
    this.code = code;
  }
}

/** Neither valid nor invalid: this browser cannot check something (an algorithm, a schema) offline. */
export class CannotCheck extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

const kind = (verdict, defaultCode) => (code = defaultCode, description = '') => {
  throw new CredentialError(verdict, code || defaultCode, description);
};

export const malformed = kind('malformed', 'malformed');
export const signatureInvalid = kind('signature_invalid', 'signature_invalid');
export const untrusted = kind('untrusted_issuer', 'issuer_untrusted');
export const notAccredited = kind('not_accredited_for_type', 'not_accredited_for_type');
export const expired = kind('expired', 'expired');
export const notYetValid = kind('not_yet_valid', 'not_yet_valid');
export const revoked = kind('revoked', 'revoked');
export const suspended = kind('suspended', 'suspended');
export const disclosureInvalid = kind('disclosure_invalid', 'disclosure_invalid');
export const keyBindingInvalid = kind('key_binding_invalid', 'kb_invalid');
export const statusUnavailable = kind('status_unavailable', 'status_unavailable');

/** Any error as a CredentialError (FormatError → malformed with its code); other errors pass through. */
export function asCredentialError(error) {
  if (error instanceof CredentialError || error instanceof CannotCheck) return error;
  if (error instanceof FormatError) return new CredentialError('malformed', error.code, error.message);
  return error;
}

/** Run `action`; a CredentialError (or FormatError) in it becomes `wrap(error)`. */
export async function rethrowAs(action, wrap) {
  try {
    return await action();
  } catch (error) {
    const known = asCredentialError(error);
    if (known instanceof CredentialError) wrap(known);
    throw known;
  }
}

/** Length in code points, as Python's len(str). */
export function codePointLength(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i += 1;
    }
    n += 1;
  }
  return n;
}
