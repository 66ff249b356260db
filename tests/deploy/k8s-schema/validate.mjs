// Validates deploy/k8s offline: every resource kustomization.yaml lists,
// against the Kubernetes API's JSON schemas as kubernetes-models ships them
// (Kubernetes 1.27): types, required fields, enums, formats. Like the
// schemas, it lets unknown fields through (a misspelt key is not caught).
// Prints one line per document; exits 1 on the first problem.
// Usage: node validate.mjs DIR
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, parse } from "yaml";

const dir = process.argv[2];
const fail = (msg) => {
  console.error(`k8s-schema: FAIL: ${msg}`);
  process.exit(1);
};
// Kubernetes reads YAML 1.1: 0440 is octal there.
const load = (file) =>
  parseAllDocuments(readFileSync(join(dir, file), "utf8"), { version: "1.1" }).map((d) => {
    if (d.errors.length) fail(`${file}: ${d.errors[0].message}`);
    return d.toJS();
  });

const kustomization = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8"));
if (kustomization.kind !== "Kustomization") fail("kustomization.yaml: kind is not Kustomization");
for (const r of kustomization.resources) {
  if (!existsSync(join(dir, r))) fail(`kustomization.yaml: resource ${r} does not exist`);
}

// "apps/v1" -> kubernetes-models/apps/v1/Deployment.js; "v1" -> v1/Service.js
async function model(apiVersion, kind) {
  const path = `kubernetes-models/${apiVersion}/${kind}`;
  try {
    return (await import(path))[kind];
  } catch (e) {
    fail(`no schema for ${apiVersion} ${kind} (${e.message})`);
  }
}

let count = 0;
for (const file of kustomization.resources) {
  for (const doc of load(file)) {
    const Model = await model(doc.apiVersion, doc.kind);
    try {
      new Model(doc).validate();
    } catch (e) {
      fail(`${file}: ${doc.kind}/${doc.metadata?.name}: ${e.message}`);
    }
    console.log(`k8s-schema: ${file}: ${doc.apiVersion} ${doc.kind}/${doc.metadata.name} valid`);
    count++;
  }
}
console.log(`k8s-schema: ${count} resources valid`);
