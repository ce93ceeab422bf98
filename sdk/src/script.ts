// The entry of the classic-script build (dist/script.js, served by the relay as /beacon.js): no
// exports, it starts from its own <script> tag (see tag.ts and README.md, "Script tag").
import { startFromTag } from './tag';

startFromTag(
  window as unknown as Parameters<typeof startFromTag>[0],
  (document.currentScript as HTMLScriptElement | null) || document.querySelector<HTMLScriptElement>('script[data-project]'),
);
