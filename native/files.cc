// (being written)
#include "napi-util.h"
#include "spawn.h"

namespace warren {

Napi::Object InitFiles(Napi::Env env, Napi::Object exports) {
  return exports;
}

}  // namespace warren
