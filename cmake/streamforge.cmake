# Helpers that keep each library's CMakeLists.txt to a few lines.
#
# sf_library(NAME SOURCES ... DEPS ... [PRIVATE_DEPS ...])
#   A static library `sf_<NAME>` whose public headers live in libs/<NAME>/include.
# sf_test(NAME SOURCES ... DEPS ...)
#   A GoogleTest executable registered with CTest (discovered per test case).

function(sf_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(sf_${name} STATIC ${ARG_SOURCES})
  add_library(sf::${name} ALIAS sf_${name})
  target_include_directories(sf_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(sf_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

function(sf_test name)
  if(NOT SF_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${SF_BIN_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    SF_DATA_DIR="${SF_DATA_DIR}"
    SF_BIN_DIR="${SF_BIN_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()

function(sf_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()
