/**
 * The visitor's consent: `granted` sends and stores, `denied` sends nothing and stores only the
 * choice, `pending` (the `requireConsent` option, before any choice) sends and stores nothing.
 */
export type Consent = 'granted' | 'denied' | 'pending';

/**
 * The consent for the localStorage key `key`: a stored choice (`"1"` by optIn, `"0"` by optOut)
 * wins; else, with `respectDnt`, a browser sending Do Not Track or Global Privacy Control is
 * `denied` (nothing stored for it); else `pending` with `requireConsent`, `granted` without.
 */
export function readConsent(key: string, requireConsent?: boolean, respectDnt?: boolean): Consent {
  let v: string | null = null;
  try {
    v = localStorage.getItem(key);
  } catch {
    // storage refused: no stored choice
  }
  const n = navigator as Navigator & { globalPrivacyControl?: boolean };
  return v ? (v == '1' ? 'granted' : 'denied')
    : respectDnt && (n.doNotTrack == '1' || n.globalPrivacyControl) ? 'denied'
    : requireConsent ? 'pending' : 'granted';
}

/**
 * Store the visitor's choice (in localStorage even when cookieless: it must outlive the tab);
 * returns the consent it makes.
 */
export function saveConsent(key: string, granted: boolean): Consent {
  try {
    localStorage.setItem(key, granted ? '1' : '0');
  } catch {
    // storage refused: the choice holds for this page only
  }
  return granted ? 'granted' : 'denied';
}
