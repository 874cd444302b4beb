// The parent <-> child plan ABI as the compiler sees it (native/child/plan.h,
// steps.h) and the parent's own step numbers, exported as `abi` so a test can
// compare it with what src/plan/encode.ts writes: one definition per side of
// the language boundary, and a check where it crosses.
#include "spawn.h"

extern "C" {
#include "child/plan.h"
}

namespace warren {

Napi::Object InitAbi(Napi::Env env, Napi::Object exports) {
  Napi::Object abi = Napi::Object::New(env);
  abi.Set("magic", Napi::Number::New(env, WR_PLAN_MAGIC));
  abi.Set("version", Napi::Number::New(env, WR_PLAN_VERSION));
  abi.Set("headerSize", Napi::Number::New(env, sizeof(struct wr_plan_header)));
  abi.Set("opSize", Napi::Number::New(env, sizeof(struct wr_op)));
  abi.Set("none", Napi::Number::New(env, WR_NONE));
  abi.Set("maxSlots", Napi::Number::New(env, WR_MAX_SLOTS));

  Napi::Object flags = Napi::Object::New(env);
  flags.Set("optional", Napi::Number::New(env, WR_F_OPTIONAL));
  flags.Set("mkdir", Napi::Number::New(env, WR_F_MKDIR));
  flags.Set("mkfile", Napi::Number::New(env, WR_F_MKFILE));
  flags.Set("ctty", Napi::Number::New(env, WR_F_CTTY));
  flags.Set("recursive", Napi::Number::New(env, WR_F_RECURSIVE));
  flags.Set("inRoot", Napi::Number::New(env, WR_F_IN_ROOT));
  flags.Set("noSymlinks", Napi::Number::New(env, WR_F_NO_SYMLINKS));
  flags.Set("hold", Napi::Number::New(env, WR_F_HOLD));
  abi.Set("opFlags", flags);

  static const char *names[] = {
#define WR_NAME_ITEM(id, name) name,
      WR_STEPS(WR_NAME_ITEM)
#undef WR_NAME_ITEM
  };
  Napi::Array steps = Napi::Array::New(env, WR_OP__COUNT);
  for (uint32_t i = 0; i < WR_OP__COUNT; i++) steps.Set(i, Napi::String::New(env, names[i]));
  abi.Set("steps", steps);

  Napi::Object parent = Napi::Object::New(env);
#define WR_PARENT_ITEM(id, value, name) parent.Set(Napi::Number::New(env, value), Napi::String::New(env, name));
  WR_PARENT_STEPS(WR_PARENT_ITEM)
#undef WR_PARENT_ITEM
  abi.Set("parentSteps", parent);

  abi.Freeze();
  exports.Set("abi", abi);
  return exports;
}

}  // namespace warren
