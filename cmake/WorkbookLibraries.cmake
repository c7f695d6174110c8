# Well-kept libraries the programs use: CLI11 (command lines), nlohmann-json (--json output),
# zlib (reading the MNIST .gz files). find_package first (Debian: libcli11-dev,
# nlohmann-json3-dev, zlib1g-dev); FetchContent only as a fallback for machines with a network.
include(FetchContent)

find_package(CLI11 CONFIG QUIET)
if(NOT TARGET CLI11::CLI11)
  message(STATUS "CLI11 not installed: downloading it (Debian: apt-get install libcli11-dev)")
  FetchContent_Declare(cli11 GIT_REPOSITORY https://github.com/CLIUtils/CLI11.git GIT_TAG v2.3.2 GIT_SHALLOW TRUE)
  FetchContent_MakeAvailable(cli11)
endif()

find_package(nlohmann_json CONFIG QUIET)
if(NOT TARGET nlohmann_json::nlohmann_json)
  message(STATUS "nlohmann-json not installed: downloading it (Debian: apt-get install nlohmann-json3-dev)")
  FetchContent_Declare(json GIT_REPOSITORY https://github.com/nlohmann/json.git GIT_TAG v3.11.2 GIT_SHALLOW TRUE)
  FetchContent_MakeAvailable(json)
endif()

find_package(ZLIB REQUIRED)  # Debian: zlib1g-dev; LibTorch itself needs it on most systems
