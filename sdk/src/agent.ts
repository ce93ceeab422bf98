type Rule = [RegExp, string];

const first = (ua: string, rules: Rule[]) => (rules.find(([r]) => r.test(ua)) || [0, 'Other'])[1];

/**
 * Browser, OS and device class of a user agent, sent with every `$pageview` as `$browser`,
 * `$os` and `$device` for the dashboard's top lists. Coarse on purpose: names, no versions, so
 * they add nothing that tells one visitor from another.
 */
export function agent(ua: string = navigator.userAgent): Record<string, string> {
  return {
    $browser: first(ua, [
      [/Edg\//, 'Edge'],
      [/OPR\/|Opera/, 'Opera'],
      [/Firefox\/|FxiOS/, 'Firefox'],
      [/Chrome\/|CriOS/, 'Chrome'],
      [/Safari\//, 'Safari'],
    ]),
    $os: first(ua, [
      [/Windows/, 'Windows'],
      [/iPhone|iPad|iPod/, 'iOS'],
      [/Android/, 'Android'],
      [/CrOS/, 'ChromeOS'],
      [/Mac OS X/, 'macOS'],
      [/Linux/, 'Linux'],
    ]),
    $device: first(ua, [
      [/iPad|Tablet|Android(?!.*Mobi)/, 'tablet'],
      [/Mobi|iPhone|iPod/, 'mobile'],
    ]).replace('Other', 'desktop'),
  };
}
