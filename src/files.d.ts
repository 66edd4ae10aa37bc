// Files embedded with `import path from "..." with { type: "file" }` are imported as their path.
declare module "*/box-helper" {
  const path: string;
  export default path;
}
declare module "*.tar.gz" {
  const path: string;
  export default path;
}
declare module "*.txt" {
  const path: string;
  export default path;
}
