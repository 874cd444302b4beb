// warren's native addon: the spawn (clone, id maps, handshake), exit
// watching, and a few syscalls Node lacks. Everything else is TypeScript.
#include "spawn.h"

namespace warren {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("resume", Napi::Function::New(env, Resume));
  InitWait(env, exports);
  InitMisc(env, exports);
  InitBpf(env, exports);
  InitNetlink(env, exports);
  InitFiles(env, exports);
  InitFilesAs(env, exports);
  InitXattr(env, exports);
  InitAbi(env, exports);
  InitDeviceInject(env, exports);
  InitUevent(env, exports);
  InitReadFiles(env, exports);
  return exports;
}

NODE_API_MODULE(warren, Init)

}  // namespace warren
