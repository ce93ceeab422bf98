import startCore from './index';

/**
 * Returns the core's start function. In the published bundle the build replaces this module
 * with one self-contained function holding the whole core (see scripts/build.mjs), whose
 * source text becomes the worker's Blob; here it simply returns the core, for tests.
 */
export default function coreFactory(): typeof startCore {
  return startCore;
}
