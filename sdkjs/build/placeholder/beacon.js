/* Beacon: this relay was built without the browser SDK, so /beacon.js is only this notice. Build
   both with `just build` (it builds sdk/ and copies sdk/dist/script.js to sdkjs/build/sdk/beacon.js
   before `go build`). */
console.warn('[beacon] this relay was built without the SDK (run `just build`): no events are sent');
