// Remembers in this browser whether a session was started, so a first visit shows the login
// form at once instead of asking the server and getting a 401. The session itself stays in the
// HttpOnly cookie; this flag holds no secret.
import { readStorage, writeStorage } from '../state/store';

const KEY = 'tally.signed-in';

export const mightBeSignedIn = (): boolean => readStorage(KEY) === '1';
export const rememberSignedIn = (yes: boolean): void => writeStorage(KEY, yes ? '1' : null);
