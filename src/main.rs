fn main() {
    println!("alc-workbench");
}
