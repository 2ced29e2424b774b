// RUN: attn-opt %s --attn-emit-c-interface | FileCheck %s
// attn-emit-c-interface: public function definitions get
// llvm.emit_c_interface; private ones and declarations do not.

// CHECK-LABEL: func.func @public() attributes {llvm.emit_c_interface}
func.func @public() {
  return
}

// CHECK-LABEL: func.func private @private() {
func.func private @private() {
  return
}

// CHECK-LABEL: func.func private @declaration()
// CHECK-NOT:     llvm.emit_c_interface
func.func private @declaration()
