/**
 * The first name whose pattern matches `ua`, else `fallback`. `rules` is `NAME=REGEXP` pairs
 * separated by `;` (strings rather than a table of regex literals: fewer bytes in the bundle).
 */
const first = (ua: string, rules: string, fallback = 'Other') =>
  (rules.split(';').map((r) => r.split('=')).find(([, re]) => RegExp(re).test(ua)) || [fallback])[0];

/**
 * Browser, OS and device class of a user agent, sent with every `$pageview` as `$browser`,
 * `$os` and `$device` for the dashboard's top lists. Coarse on purpose: names, no versions, so
 * they add nothing that tells one visitor from another.
 */
export function agent(ua: string = navigator.userAgent): Record<string, string> {
  return {
    $browser: first(ua, 'Edge=Edg/;Opera=OPR/|Opera;Firefox=Firefox/|FxiOS;Chrome=Chrome/|CriOS;Safari=Safari/'),
    $os: first(ua, 'Windows=Windows;iOS=iPhone|iPad|iPod;Android=Android;ChromeOS=CrOS;macOS=Mac OS X;Linux=Linux'),
    $device: first(ua, 'tablet=iPad|Tablet|Android(?!.*Mobi);mobile=Mobi|iPhone|iPod', 'desktop'),
  };
}
