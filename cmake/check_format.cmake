# CTest's `format` test: every C++ source of the project is formatted as .clang-format says.
#   cmake -DCLANG_FORMAT=<clang-format> -DROOT=<project dir> -P cmake/check_format.cmake
# Fix a failure with: clang-format -i <the files it names> (clang-format 14, Debian's).
file(GLOB_RECURSE sources RELATIVE ${ROOT}
     ${ROOT}/framework/*.cpp ${ROOT}/framework/*.h ${ROOT}/plugins/*.cpp ${ROOT}/plugins/*.h
     ${ROOT}/tests/*.cpp ${ROOT}/tests/*.h ${ROOT}/examples/*.cpp ${ROOT}/examples/*.h
     ${ROOT}/fuzz/*.cpp ${ROOT}/fuzz/*.h)
list(SORT sources)
set(bad "")
foreach(f ${sources})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${f} WORKING_DIRECTORY ${ROOT}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad ${f})
  endif()
endforeach()
list(LENGTH sources n)
if(bad)
  list(LENGTH bad nbad)
  list(JOIN bad "\n  " names)
  message(FATAL_ERROR "${nbad} of ${n} sources are not formatted as .clang-format says:\n  ${names}\n"
                      "fix with: clang-format -i <file>")
endif()
message(STATUS "all ${n} sources formatted")
