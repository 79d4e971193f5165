// REST errors as the Bitrix24 server reports them: `{"error": CODE, "error_description": TEXT}` with an HTTP status.
// Codes and texts come from the reference notes (rest/lib/restexception.php and friends).

export class RestError extends Error {
  constructor(
    /** The `error` field; many CRM proxy errors send an empty code. */
    readonly code: string,
    /** The `error_description` field. */
    readonly description: string,
    readonly status = 400,
  ) {
    super(`${code || '(no code)'}: ${description}`);
    this.name = 'RestError';
  }

  toBody(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** A CRM proxy validation error: empty code, HTTP 400 (`RestException(implode("\n", $errors))`). */
export const crmError = (...messages: string[]) => new RestError('', messages.join('\n'), 400);

/** An error that went through `CAdminException`: code ERROR_CORE and a message ending in `<br>`. */
export const coreError = (...messages: string[]) => new RestError('ERROR_CORE', messages.map((m) => `${m}<br>`).join(''), 400);

/** `AccessException`: "Access denied!" plus an optional reason, HTTP 403. */
export const accessDenied = (reason = '') => new RestError('ACCESS_DENIED', `Access denied!${reason ? ` ${reason}` : ''}`, 403);

export const appContextRequired = () => accessDenied('Application context required');

/** AuthTypeException (an AccessException): the method refuses this kind of authorisation. */
export const wrongAuthType = () => new RestError('WRONG_AUTH_TYPE', 'Current authorization type is denied for this method', 403);

export const methodNotFound = () => new RestError('ERROR_METHOD_NOT_FOUND', 'Method not found!', 404);
