// yargs-parser ships its Node-free build as "yargs-parser/browser" without types; it is the same parser.
declare module "yargs-parser/browser" {
  import yargsParser from "yargs-parser";
  export default yargsParser;
}
