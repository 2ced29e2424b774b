# Install rules and the CMake package (find_package(AttnOpt CONFIG)): headers,
# TableGen sources, generated .inc files, libraries, tools and
# lib/cmake/AttnOpt/AttnOpt{Config,ConfigVersion,Targets}.cmake: a directory
# named after the package, so that find_package(AttnOpt) finds it with only
# CMAKE_PREFIX_PATH (CMake searches <prefix>/lib/cmake/<name>*/).
#
# Included from the top-level CMakeLists.txt after every library and tool
# exists. add_mlir_library already installs each library into an export set
# named MLIRTargets that nothing installs; we install the same targets again
# into our own export set, so the package does not depend on that internal
# naming, and put everything in one component (attn-opt-dev) that the install
# test can install alone.

include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(ATTN_INSTALL_COMPONENT attn-opt-dev)
set(ATTN_INSTALL_LIBDIR "lib${LLVM_LIBDIR_SUFFIX}")
set(ATTN_INSTALL_INCLUDEDIR "include")
set(ATTN_INSTALL_PACKAGEDIR "${ATTN_INSTALL_LIBDIR}/cmake/AttnOpt")

# Every library of ours: the add_mlir_library ones (recorded by AddMLIR in
# MLIR_EXPORTS; obj.* object libraries excluded) and the plain ones.
get_property(_attnMlirLibs GLOBAL PROPERTY MLIR_EXPORTS)
set(ATTN_EXPORTED_LIBS)
foreach(_lib IN LISTS _attnMlirLibs ITEMS AttnSupport AttnRuntime)
  if(TARGET ${_lib} AND _lib MATCHES "^Attn" AND
     NOT _lib IN_LIST ATTN_EXPORTED_LIBS)
    list(APPEND ATTN_EXPORTED_LIBS ${_lib})
  endif()
endforeach()

# The micro-kernels the CPU pipeline's code calls (ukernels=1, the default):
# whoever runs that code links libattn_ukernels (.a or .so).
foreach(_lib attn_ukernels_static attn_ukernels_shared)
  if(TARGET ${_lib})
    list(APPEND ATTN_EXPORTED_LIBS ${_lib})
  endif()
endforeach()

set(ATTN_EXPORTED_TOOLS attn-opt)
if(TARGET attn-run)
  list(APPEND ATTN_EXPORTED_TOOLS attn-run)
endif()

# add_llvm_executable's install RPATH is $ORIGIN/../lib only, which suits a
# tool installed next to LLVM; ours are not, so also point at libMLIR.so.
foreach(_tool IN LISTS ATTN_EXPORTED_TOOLS)
  set_property(TARGET ${_tool} APPEND PROPERTY INSTALL_RPATH
    "${LLVM_LIBRARY_DIR}")
endforeach()

# What the install test needs built before `cmake --install` can run.
set(ATTN_INSTALL_DEPENDS ${ATTN_EXPORTED_LIBS} ${ATTN_EXPORTED_TOOLS})

install(TARGETS ${ATTN_EXPORTED_LIBS} ${ATTN_EXPORTED_TOOLS}
  EXPORT AttnOptTargets
  COMPONENT ${ATTN_INSTALL_COMPONENT}
  ARCHIVE DESTINATION ${ATTN_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${ATTN_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${ATTN_INSTALL_INCLUDEDIR}
)

# Headers and TableGen sources next to each other, as MLIR installs its own.
install(DIRECTORY
  ${PROJECT_SOURCE_DIR}/include/attn
  ${PROJECT_SOURCE_DIR}/include/attn-c
  DESTINATION ${ATTN_INSTALL_INCLUDEDIR}
  COMPONENT ${ATTN_INSTALL_COMPONENT}
  FILES_MATCHING
  PATTERN "*.h"
  PATTERN "*.td"
)
# Generated: ODS/pass .inc files and attn/Version.h.
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/attn
  DESTINATION ${ATTN_INSTALL_INCLUDEDIR}
  COMPONENT ${ATTN_INSTALL_COMPONENT}
  FILES_MATCHING
  PATTERN "*.h"
  PATTERN "*.inc"
  PATTERN "CMakeFiles" EXCLUDE
)

install(EXPORT AttnOptTargets
  NAMESPACE AttnOpt::
  DESTINATION ${ATTN_INSTALL_PACKAGEDIR}
  COMPONENT ${ATTN_INSTALL_COMPONENT}
)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/AttnOptConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/AttnOptConfig.cmake
  INSTALL_DESTINATION ${ATTN_INSTALL_PACKAGEDIR}
  PATH_VARS ATTN_INSTALL_INCLUDEDIR
)
# Before 1.0 a minor release may break the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/AttnOptConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion
)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/AttnOptConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/AttnOptConfigVersion.cmake
  DESTINATION ${ATTN_INSTALL_PACKAGEDIR}
  COMPONENT ${ATTN_INSTALL_COMPONENT}
)

add_custom_target(install-attn-opt-dev
  DEPENDS ${ATTN_INSTALL_DEPENDS}
  COMMAND ${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR}
          --component ${ATTN_INSTALL_COMPONENT}
  USES_TERMINAL
)
