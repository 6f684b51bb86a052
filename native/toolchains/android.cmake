# Android NDK (r26+) wrapper: set ANDROID_NDK (or ANDROID_NDK_HOME) and optionally ANDROID_ABI
# (default arm64-v8a) and ANDROID_PLATFORM (default android-24), then
#   cmake -S native -B build-android -DCMAKE_TOOLCHAIN_FILE=native/toolchains/android.cmake
# Untested here: no NDK is installable on this machine (see native/README.md).
if(NOT DEFINED ENV{ANDROID_NDK} AND DEFINED ENV{ANDROID_NDK_HOME})
  set(ENV{ANDROID_NDK} $ENV{ANDROID_NDK_HOME})
endif()
if(NOT DEFINED ENV{ANDROID_NDK})
  message(FATAL_ERROR "set ANDROID_NDK to the NDK's folder")
endif()
if(NOT ANDROID_ABI)
  set(ANDROID_ABI arm64-v8a)
endif()
if(NOT ANDROID_PLATFORM)
  set(ANDROID_PLATFORM android-24)
endif()
include($ENV{ANDROID_NDK}/build/cmake/android.toolchain.cmake)
